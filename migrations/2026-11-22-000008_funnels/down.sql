DROP TABLE funnel_steps;
DROP TABLE funnels;
DROP FUNCTION beacon_goal_matches(text, text, text, text);
