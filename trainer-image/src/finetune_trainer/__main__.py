from finetune_trainer.cli import main

raise SystemExit(main())
