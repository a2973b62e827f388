"""The call-centre simulator: scenarios (data/bengkalis/scenarios), the call stream and the queue it meets
(engine), history written to the database (actions), live replay through the API (live), and the story of
where the calls went (story). `siaga simulate`."""
