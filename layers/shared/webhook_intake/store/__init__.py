"""The events table and the payload bucket: what is written, how it is keyed, what it costs."""
