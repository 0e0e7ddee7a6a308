"""Redis for RQ, refused unless it is configured not to lose what it holds."""

from __future__ import annotations

from redis import Redis

from tawasul.errors import ConfigError

QUEUE_NAME = "tawasul"


def connect(url: str) -> Redis:
    """Return a Redis client for the URL (not yet checked)."""
    return Redis.from_url(
        url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
    )


def check_durability(redis: Redis) -> None:
    """Refuse a Redis that may lose jobs: it must persist (AOF) and never evict keys.

    Raises:
        ConfigError: naming the setting that is wrong.
    """
    appendonly = redis.config_get("appendonly").get("appendonly")
    if appendonly != "yes":
        raise ConfigError(f"Redis must run with appendonly yes (it has {appendonly!r})")
    policy = redis.config_get("maxmemory-policy").get("maxmemory-policy")
    if policy != "noeviction":
        raise ConfigError(f"Redis must run with maxmemory-policy noeviction (it has {policy!r})")
