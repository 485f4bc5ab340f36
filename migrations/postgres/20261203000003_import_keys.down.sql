DROP TABLE IF EXISTS import_keys;
