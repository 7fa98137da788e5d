package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// AppendJournal stores records in the entity journal, synchronously: the
// admin API writes here before it changes Redis, so an acknowledged write
// survives the loss of Redis.
func (c *Component) AppendJournal(ctx context.Context, records []model.JournalRecord) error {
	if len(records) == 0 {
		return nil
	}
	now := time.Now().UTC()
	err := c.insert(ctx, "entity_journal", len(records), []column{
		values("kind", func(i int) string { return records[i].Kind }),
		values("id", func(i int) string { return records[i].ID }),
		values("version", func(i int) uint64 { return records[i].Version }),
		values("deleted", func(i int) uint8 { return flag(records[i].Deleted) }),
		values("body", func(i int) string { return string(records[i].Body) }),
		values("ts", func(int) time.Time { return now }),
	})
	if err != nil {
		return fmt.Errorf("writing the entity journal: %w", err)
	}
	return nil
}

// LoadJournal returns the record in force of every (kind, id) the journal
// holds, deleted ones included. argMax picks the latest version whether or
// not the table's parts have merged yet.
func (c *Component) LoadJournal(ctx context.Context) ([]model.JournalRecord, error) {
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, "SELECT kind, id, max(version), argMax(deleted, version), argMax(body, version) FROM "+
		c.table("entity_journal")+" GROUP BY kind, id ORDER BY kind, id")
	if err != nil {
		return nil, fmt.Errorf("reading the entity journal: %w", err)
	}
	defer rows.Close()
	var out []model.JournalRecord
	for rows.Next() {
		var (
			r       model.JournalRecord
			deleted uint8
			body    string
		)
		if err := rows.Scan(&r.Kind, &r.ID, &r.Version, &deleted, &body); err != nil {
			return nil, fmt.Errorf("reading the entity journal: %w", err)
		}
		r.Deleted, r.Body = deleted == 1, []byte(body)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the entity journal: %w", err)
	}
	return out, nil
}

// journalMigration is the migration that creates entity_journal.
const journalMigration = 3

// EnsureJournal creates the database and the entity journal when missing,
// for processes that write the journal but do not migrate the schema
// (`serve`, `restore`): running the whole migration there could race a
// `work` process's.
func (c *Component) EnsureJournal(ctx context.Context) error {
	migrations, err := loadMigrations()
	if err != nil {
		return err
	}
	if err := c.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+c.database+"`"); err != nil {
		return fmt.Errorf("creating database %s: %w", c.database, err)
	}
	for _, m := range migrations {
		if m.version != journalMigration {
			continue
		}
		for _, stmt := range m.statements {
			if err := c.conn.Exec(ctx, strings.ReplaceAll(stmt, "{db}", "`"+c.database+"`")); err != nil {
				return fmt.Errorf("creating the entity journal: %w", err)
			}
		}
	}
	return nil
}
