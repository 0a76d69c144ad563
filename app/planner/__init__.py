"""The planner (journey 8): hypothetical changes projected through the scoring engine,
the record-level actions that make them real, and the cheapest path to the next level.

``changes`` (the change kinds and the pure projection) and ``cheapest`` (the search)
import neither Flask nor SQLAlchemy; ``state`` reads what they need from the database;
``services`` and ``api`` sit on top."""
