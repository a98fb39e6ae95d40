"""Connectors to outside systems, one package each, registered in ``connectors.registry``."""
