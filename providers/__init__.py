"""The outside world behind the core's ports: AMI, SMS gateways, forwarders, identity providers.

An adapter beside ``ivr``, ``agent_api`` and ``jobqueue``; :mod:`providers.build` chooses and
builds each one from the settings, and only the composition roots in ``tawasul_cli`` call it.
"""
