"""Pictures of what models learn, drawn with matplotlib (imported only when one is drawn).

    figures.py      the one figure helper and the one atomic save every picture uses
    generative.py   samples, trajectories, latent codes, densities of generative runs
    paired.py       pictures beside the captions a paired model picks for them
"""
