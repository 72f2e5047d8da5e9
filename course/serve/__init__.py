"""`course serve`: the web app of notebook 11 (`webapp`) and its server process
(`server_process`)."""
