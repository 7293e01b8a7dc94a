"""The console's pages, one module per subject of the navigation bar."""
