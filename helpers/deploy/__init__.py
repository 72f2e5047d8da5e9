"""Notebooks 09 and 11, a model to ship: the `.keras` file with its card, uploaded files decoded
as the model needs them, and a classifier that answers for one image at a time."""
