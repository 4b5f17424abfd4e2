-- Secrets of the server itself, created on first use: the key that binds the login form's token to
-- its cookie (`login_form`). Never shown, never exported.
CREATE TABLE server_secret (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
