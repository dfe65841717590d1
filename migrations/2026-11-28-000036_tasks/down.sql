DROP TABLE tasks;
DROP TABLE task_columns;
