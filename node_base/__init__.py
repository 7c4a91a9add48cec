"""The one base of the provider and validator daemons."""
