/*
 * sim_suite.h - the fixed-seed regression suite run by ctest: scenarios at
 * N = 50 and N = 200 with their bounds asserted.
 */
#ifndef CHORUS_SIM_SUITE_H
#define CHORUS_SIM_SUITE_H

/* Prints one PASS/FAIL line per assertion group, then "P passed, F failed";
 * returns the process exit status (0 when all pass, 1 otherwise). */
int sim_suite_small(void);

#endif
