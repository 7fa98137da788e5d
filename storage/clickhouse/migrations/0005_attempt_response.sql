-- Each postback attempt keeps the start of the receiver's answer and the
-- error that stopped it apart from the debug text, for the deliveries API.
-- Rows written before this migration carry empty strings.

ALTER TABLE {db}.postback_attempts ADD COLUMN response_body String DEFAULT '';

ALTER TABLE {db}.postback_attempts ADD COLUMN error String DEFAULT '';
