DROP TABLE comments;
DROP TABLE comment_threads;
