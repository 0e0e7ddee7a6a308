"""The database models (SQLAlchemy 2); the next commit splits them by aggregate."""

from tawasul.models.requests import *  # noqa: F403
