DROP TABLE notification_deliveries;
DROP TABLE schedules;
DROP TABLE alert_events;
DROP TABLE alerts;
DROP TABLE notification_channels;
DROP FUNCTION beacon_last_slot(text, integer, time, integer, text, timestamptz);
DROP FUNCTION beacon_next_slot(text, integer, time, integer, text, timestamptz);
DROP FUNCTION beacon_slot_on(text, time, integer, text, date);
