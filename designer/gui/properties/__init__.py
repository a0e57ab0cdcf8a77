"""The property panel, generated from each module's pydantic parameter model."""
