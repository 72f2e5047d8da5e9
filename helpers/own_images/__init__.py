"""Notebook 12, your own images: where a folder of photos comes from, what is wrong with it, and
moving the suspicious files aside before `keras.utils.image_dataset_from_directory` reads it.

`layout` says which files Keras reads, `sources` gets and checks a folder, `audit` finds the
problems, `splits` the duplicates that straddle Keras's train/validation split, `review` moves
files aside, and `offline_folder` writes a folder with planted problems where nothing can be
downloaded."""
