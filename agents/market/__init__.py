"""Scripted agents of the marketplace world: shopping assistants and service agents."""
