"""What a person reads: output formats (:mod:`.formats`: table, JSON, JSON Lines, CSV, HTML and Markdown
reports), figures (:mod:`.plot`, from :mod:`.plot_data` and :mod:`.marks`), the summary figures of a report
(:mod:`.figures`), and the evaluation's tables and figure (:mod:`.evaluation_tables`, :mod:`.plot_eval`)."""
