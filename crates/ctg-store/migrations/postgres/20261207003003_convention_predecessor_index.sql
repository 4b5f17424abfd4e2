-- The page of a convention names the conventions before and after it (renewal, art. 11): without an
-- index, finding the successors of one read every convention (2.7 ms on 1,200, at each page).
CREATE INDEX convention_predecessor ON convention (predecessor_id);
