"""Tawasul: the domain core of the reception-centre IVR and call-centre backend.

This package holds the models, the request workflow, the use cases and the ports. It imports
only the standard library, SQLAlchemy and the cryptography primitives; the adapters (``ivr``,
``agent_api``, ``jobqueue``) import it, never the other way round.
"""
