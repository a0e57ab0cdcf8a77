"""The built-in modules' manifest: ids, titles and categories without importing any module code.

The project's own entry point (`pipeline_designer.modules` in pyproject.toml) points here; plugins ship
a manifest of the same shape. The conformance suite checks each entry against its class.
"""

CLEAN, DATA, LEARN, SCORE = "Clean and transform", "Data", "Machine learning", "Score and evaluate"

MANIFEST = {
    "name": "built-in modules",
    "namespaces": ["data", "clean", "split", "learn", "score", "evaluate"],
    "modules": [
        {"type": t, "title": title, "category": category, "class": target}
        for t, title, category, target in (
            ("data.csv", "Load CSV", DATA, "nodes.data:LoadCsv"),
            ("data.parquet", "Load Parquet", DATA, "nodes.data:LoadParquet"),
            ("data.dataset", "Load Data Set", DATA, "nodes.data:LoadDataset"),
            ("data.database", "Load from Database", DATA, "nodes.data:LoadDatabase"),
            ("data.sample", "Sample Dataset", DATA, "nodes.data:SampleDataset"),
            ("data.manual", "Enter Data Manually", DATA, "nodes.data:EnterData"),
            ("data.save_csv", "Save CSV", DATA, "nodes.data:SaveCsv"),
            ("data.join", "Join Data", DATA, "nodes.combine:JoinData"),
            ("data.add_rows", "Add Rows", DATA, "nodes.combine:AddRows"),
            ("data.model", "Load Model", DATA, "nodes.data:LoadModel"),
            ("clean.select", "Select Columns", CLEAN, "nodes.clean:SelectColumns"),
            ("clean.missing", "Clean Missing Data", CLEAN, "nodes.clean:CleanMissing"),
            ("clean.normalize", "Normalize Data", CLEAN, "nodes.clean:Normalize"),
            ("clean.encode", "Encode Categorical", CLEAN, "nodes.clean:EncodeCategorical"),
            ("clean.duplicates", "Remove Duplicates", CLEAN, "nodes.clean:RemoveDuplicates"),
            ("clean.clip", "Clip Values", CLEAN, "nodes.clean:ClipValues"),
            ("clean.edit", "Edit Metadata", CLEAN, "nodes.clean:EditMetadata"),
            ("split.rows", "Split Data", "Split", "nodes.split:SplitData"),
            ("split.sample", "Partition and Sample", "Split", "nodes.split:PartitionSample"),
            ("learn.linear_regression", "Linear Regression", LEARN, "nodes.learn:LinearRegressionLearner"),
            ("learn.logistic_regression", "Logistic Regression", LEARN, "nodes.learn:LogisticRegressionLearner"),
            ("learn.kmeans", "K-Means Clustering", LEARN, "nodes.learn:KMeansLearner"),
            ("learn.boosted_regression", "Boosted Trees Regression", LEARN, "nodes.learn:BoostedRegressionLearner"),
            ("learn.boosted_classification", "Boosted Trees Classification", LEARN,
             "nodes.learn:BoostedClassificationLearner"),
            ("learn.train", "Train Model", LEARN, "nodes.learn:TrainModel"),
            ("learn.tune", "Tune Model Hyperparameters", LEARN, "nodes.tune:TuneModelHyperparameters"),
            ("learn.train_clustering", "Train Clustering Model", LEARN, "nodes.learn:TrainClusteringModel"),
            ("score.model", "Score Model", SCORE, "nodes.score:ScoreModel"),
            ("evaluate.model", "Evaluate Model", SCORE, "nodes.evaluate:EvaluateModel"),
            ("evaluate.cross_validate", "Cross Validate Model", SCORE, "nodes.tune:CrossValidateModel"),
        )
    ],
}
