"""The phone adapter: FastAGI server, AGI protocol, the AGI scripts and prompt playback."""
