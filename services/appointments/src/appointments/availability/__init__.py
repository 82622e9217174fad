"""Availability: doctors' weekly working hours, time off and the free slots they leave."""
