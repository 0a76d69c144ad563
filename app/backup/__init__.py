"""Backups of the database and the stored objects that restore into an empty portal
(``flask backup create DIR``, ``flask backup restore DIR``); see services."""
