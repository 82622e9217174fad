"""Room occupancy with durable logs."""
