"""Sales: pipelines, stages, deals, forecasts, lead capture and lead scoring."""
