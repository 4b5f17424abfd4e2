-- Issue 16, point 5: the conventions a person may see are the published ones and those of their roles
-- (`Store::conventions_published_or`); with 1,200 conventions, an index of the few published ones lets
-- the engine read those two sets instead of every convention on each request.
CREATE INDEX convention_published ON convention (id) WHERE published;
