"""The telephony side: operators' phones and presence, the call queue and who rings next, and the SIP edge
(Kamailio) that turns real calls into call events."""
