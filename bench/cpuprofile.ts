// The shape of a V8 .cpuprofile (what `--cpu-prof` and the inspector's Profiler.stop write), as the bench
// scripts that read one use it (profile-accept.ts, cpuprofile-top.ts).

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}
