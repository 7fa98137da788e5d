package model

// Offset is where a record sits in Kafka: its partition and offset. The
// sink stores it with the record, so a batch redelivered after a crash
// between the ClickHouse insert and the offset commit is recognised and
// not inserted (and counted in the rollups) twice.
type Offset struct {
	Partition int32
	Offset    int64
}
