"""The model as a planner writes it: the scenario and its validation, distributions, the
calendar, dotted field paths, demand, capacity and levers. No simulation happens here."""
