"""Converters that turn upstream source files into the formats the loaders read."""
