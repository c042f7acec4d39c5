"""What a planner opens: result folders, tables, charts, HTML reports and the brief."""
