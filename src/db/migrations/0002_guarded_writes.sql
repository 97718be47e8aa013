-- Guarded single-statement writes: a statement that finds one of its guards broken calls
-- clearway_assert(false, ...), which raises and so rolls the whole statement back.
CREATE FUNCTION clearway_assert(ok boolean, message text) RETURNS boolean AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION '%', message USING ERRCODE = 'P0001';
  END IF;
  RETURN true;
END
$$ LANGUAGE plpgsql;
