"""The API's resources, one module per part of the platform; `loupe_client.Client` holds an
instance of each."""
