// SafeTensors: filled in by its issue.
