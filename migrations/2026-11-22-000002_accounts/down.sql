DROP TABLE user_tokens;
DROP TABLE user_sessions;
DROP TABLE users;
