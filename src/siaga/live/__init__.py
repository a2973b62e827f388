"""The live view: what a console sees now (the snapshot it starts from) and what it may see next (the
filtered, masked event stream). It reads every domain's state, so it sits above them; no domain imports it."""
