#!/usr/bin/env python3
"""The official Python bindings (`mujoco` from PyPI, 3.17.0) stepping the same MJCF as bprl's
environment, in a Python loop: control steps per second.

Two loops over the same random actions, 10 physics steps per control step:
  python_raw: write ctrl, call mujoco.mj_step 10 times (the bare loop);
  python_env: the same, then what bprl's GoToTarget computes per step, in NumPy: the
              observation groups (joints, height, z-axis, sensors, egocentric end effectors
              and targets, one-hot task), the in-target predicate, the flip check.
Usage: bench_mujoco.py MODEL.xml STEPS [REPEATS]  (prints key=value lines)
"""
import sys
import time

import mujoco
import numpy as np


def main():
    xml, steps = sys.argv[1], int(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    m = mujoco.MjModel.from_xml_path(xml)
    d = mujoco.MjData(m)
    rng = np.random.default_rng(1)
    acts = rng.uniform(-1, 1, size=(steps, m.nu))
    torso = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "torso")
    sites = [i for i in range(m.nsite) if mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_SITE, i) != "torso_site"]
    free = [j for j in range(m.njnt) if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    joints = [j for j in range(m.njnt) if j not in free]
    qadr = np.array([m.jnt_qposadr[j] for j in joints])
    vadr = np.array([m.jnt_dofadr[j] for j in joints])
    targets = np.array([[1.5, 0.0, 0.0], [0.0, 1.5, 0.0], [-1.5, 0.0, 0.0]])
    print(f"python_mujoco_version={mujoco.__version__}")

    def reset():
        # bprl's start: the quadruped's ankles (every second joint) at 50 deg, mid-range;
        # a new episode every 400 control steps, as the environment's time limit.
        mujoco.mj_resetData(m, d)
        if m.nu == 8:
            d.qpos[qadr[1::2]] = np.radians(50.0)
        mujoco.mj_forward(m, d)

    def raw():
        start = time.perf_counter()
        for i, a in enumerate(acts):
            if i % 400 == 0:
                reset()
            d.ctrl[:] = a
            for _ in range(10):
                mujoco.mj_step(m, d)
        return steps / (time.perf_counter() - start)

    def env():
        start = time.perf_counter()
        for i, a in enumerate(acts):
            if i % 400 == 0:
                reset()
            d.ctrl[:] = np.clip(a, -1.0, 1.0)
            for _ in range(10):
                mujoco.mj_step(m, d)
            pos, rot = d.xpos[torso], d.xmat[torso].reshape(3, 3)
            ee = (d.site_xpos[sites] - pos) @ rot
            proprio = np.concatenate([d.qpos[qadr], d.qvel[vadr], pos[2:3], rot[2], d.sensordata[:9], ee.ravel()])
            ego = ((targets - pos) @ rot).ravel()
            task = np.zeros(3)
            task[0] = 1.0
            obs = [proprio.astype(np.float32), ego.astype(np.float32), task.astype(np.float32)]
            inside = np.hypot(*(pos[:2] - targets[0, :2])) <= 0.5
            flipped = rot[2, 2] < 0.0
            del obs, inside, flipped
        return steps / (time.perf_counter() - start)

    raw()
    r = sorted(raw() for _ in range(repeats))[repeats // 2]
    e = sorted(env() for _ in range(repeats))[repeats // 2]
    print(f"python_raw_control_steps_per_s={r:.0f}")
    print(f"python_env_control_steps_per_s={e:.0f}")


if __name__ == "__main__":
    main()
