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

// ProcessUsage is what a process has used since it started, all its
// threads together, from /proc/<pid>/stat.
type ProcessUsage struct {
	// CPU is user plus system time.
	CPU time.Duration
	// PageFaults is the minor faults: pages the kernel mapped in without
	// reading a disk, which a process pays for again each time its
	// allocator hands freed memory back to the kernel and takes it anew
	// (README, "Performance").
	PageFaults int64
}

// ReadProcessUsage returns the CPU and the page faults a process has used.
func ReadProcessUsage(pid int) (ProcessUsage, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcessUsage{}, fmt.Errorf("reading process %d's /proc stat: %w", pid, err)
	}
	return parseStat(string(raw))
}

// parseStat reads minflt (field 10), utime and stime (fields 14 and 15)
// from a stat line. The command name (field 2) is in parentheses and may
// hold spaces: the fields are counted after its closing one.
func parseStat(stat string) (ProcessUsage, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return ProcessUsage{}, errors.New("stat line without a command name")
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is field 3 (state): minflt is field 10, fields[7]; utime
	// field 14, fields[11].
	if len(fields) < 13 {
		return ProcessUsage{}, fmt.Errorf("stat line with %d fields after the name", len(fields))
	}
	var n [3]int64
	for i, f := range []string{fields[7], fields[11], fields[12]} {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return ProcessUsage{}, fmt.Errorf("stat line: %w", err)
		}
		n[i] = v
	}
	return ProcessUsage{CPU: time.Duration(n[1]+n[2]) * time.Second / clockTicks, PageFaults: n[0]}, nil
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
