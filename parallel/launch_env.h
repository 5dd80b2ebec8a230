/* What the environment says about how this process was started. */
#ifndef CBD_LAUNCH_ENV_H
#define CBD_LAUNCH_ENV_H

/* 1 when an MPI launcher's variables are set. */
int cbd_launch_env_present(void);
/* The tasks of the Slurm job step this process is one of (srun), 0 outside one. */
int cbd_launch_env_srun_tasks(void);

/* This process's rank among the job's ranks on its node (Open MPI, Slurm,
 * MPICH), 0 when no launcher says: it picks the rank's GPU. */
int cbd_launch_env_local_rank(void);

#endif
