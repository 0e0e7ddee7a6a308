"""The ``tawasul`` command: the one door for humans, the demo and CI."""
