package loadgen

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go runs on (the kernel fixes what it
// shows user space, whatever its internal HZ).
const clockTicks = 100

// ProcessCPU returns the user plus system CPU a process has used, all its
// threads together, from /proc/<pid>/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading process %d's CPU time: %w", pid, err)
	}
	return parseStatCPU(string(raw))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a stat line.
// The command name (field 2) is in parentheses and may hold spaces: the
// fields are counted after its closing one.
func parseStatCPU(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("stat line without a command name")
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is field 3 (state): utime is field 14, fields[11].
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat line with %d fields after the name", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat line: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// MachineTimes is the time every core of the machine has spent, from
// /proc/stat's first line, in USER_HZ ticks: a share over an interval is
// the difference of two samples' field over the difference of their totals.
type MachineTimes struct {
	// Busy is any state but idle and iowait, steal included: time the
	// machine's cores were not free for another process of this machine.
	Busy int64
	// Steal is time the hypervisor ran another machine while a core of
	// this one had work.
	Steal int64
	Total int64
}

// MachineCPU returns the machine's CPU times so far.
func MachineCPU() (MachineTimes, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineTimes{}, fmt.Errorf("reading the machine's CPU time: %w", err)
	}
	return parseMachineCPU(string(raw))
}

// parseMachineCPU reads the aggregate "cpu" line: user nice system idle
// iowait irq softirq steal (guest time is already counted in user).
func parseMachineCPU(stat string) (MachineTimes, error) {
	line, _, _ := strings.Cut(stat, "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return MachineTimes{}, fmt.Errorf("/proc/stat: first line %q is not the aggregate cpu line", line)
	}
	var t MachineTimes
	for i, f := range fields[1:9] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return MachineTimes{}, fmt.Errorf("/proc/stat: %w", err)
		}
		t.Total += n
		if i != 3 && i != 4 { // idle, iowait
			t.Busy += n
		}
		if i == 7 {
			t.Steal = n
		}
	}
	return t, nil
}
