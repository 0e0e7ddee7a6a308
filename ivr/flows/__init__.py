"""The phone menu's call flows, over any :class:`ivr.agi.Channel`.

``menu`` asks the questions (one of N, digits, confirmations) and ends calls; ``main_menu`` is
the welcome and the first choice; ``new_request`` and ``follow_up`` are the two flows;
``callback_number`` and ``voice_message`` are the steps they share. Every database read and
write goes through the core's ``IntakeService``, which commits before the next prompt.
"""
