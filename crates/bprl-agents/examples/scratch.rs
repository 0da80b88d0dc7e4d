use bprl_agents::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut c = AgentConfig::default();
    c.learner.batch_size = 32;
    c.learner.policy_hidden = vec![64, 64];
    c.learner.critic_hidden = vec![64, 64];
    c.learner.action_samples = 4;
    let lr: f64 = std::env::var("LR").ok().and_then(|v| v.parse().ok()).unwrap_or(3e-4); c.learner.policy_lr = lr; c.learner.critic_lr = lr; c.learner.prior_lr = lr;
    c.learner.target_period = std::env::var("TP").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    c.learner.gamma = std::env::var("GAMMA").ok().and_then(|v| v.parse().ok()).unwrap_or(0.99);
    c.env.targets.shaping = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(1.0);
    c.env.targets.num_targets = std::env::var("K").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    c.env.targets.max_steps = std::env::var("MAXS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    c.run.env_steps = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(20000);
    c.run.updates_per_env_step = std::env::var("UPE").ok().and_then(|v| v.parse().ok()).unwrap_or(0.5);
    c.run.min_replay = 50;
    c.run.eval_every_episodes = 20;
    if args.get(3).map(|s| s == "h").unwrap_or(false) { c.hierarchy = Some(HierarchyConfig::default()); }
    let mut t = Trainer::new(c, Tasks::Train).unwrap();
    let start = std::time::Instant::now();
    t.train(None, &mut |r, e| {
        if let Some(e) = e { println!("ep {} steps {} ret {:.2} succ {} | eval ret {:.2} succ {:.2} | cl {:.4} pl {:.3} kl {:.3} q {:.3} H {:.2} t={:.0}s", r.episode, r.env_steps, r.episode_return, r.success, e.mean_return, e.success_rate, r.metrics.critic_loss, r.metrics.policy_loss, r.metrics.kl, r.metrics.q, r.metrics.entropy, start.elapsed().as_secs_f64()); }
    }).unwrap();
}
