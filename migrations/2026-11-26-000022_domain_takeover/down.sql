DROP FUNCTION beacon_take_over_project_domain(text, uuid);
